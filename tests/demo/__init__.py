"""tarsy demo tests."""
