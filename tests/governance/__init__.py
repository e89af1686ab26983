"""Tests of isp.governance."""
