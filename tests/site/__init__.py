"""Tests of isp.site."""
