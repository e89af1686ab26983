"""Tests of isp.cli."""
