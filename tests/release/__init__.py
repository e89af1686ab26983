"""Tests of isp.release."""
