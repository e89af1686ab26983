"""Tests of isp.crypto."""
