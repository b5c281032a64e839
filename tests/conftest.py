"""Shared pytest configuration for ami-client's tests.

The real-Asterisk machinery (marker ``asterisk``, fixtures ``asterisk_server`` and
``asterisk``) lives in the plugin tests/asterisk/fixture.py.  Add other shared
fixtures below, or more plugins to ``pytest_plugins``.
"""

pytest_plugins = ["tests.asterisk.fixture"]
