"""Tests of isp.ci."""
