"""Tests of isp.disclosure."""
