"""Tests of isp.sheets."""
