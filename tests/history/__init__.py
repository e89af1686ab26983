"""Tests of isp.history."""
