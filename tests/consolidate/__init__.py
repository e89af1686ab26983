"""Tests of isp.consolidate."""
