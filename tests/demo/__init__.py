"""Tests of isp.demo."""
