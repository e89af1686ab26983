"""Tests of isp.protocol."""
