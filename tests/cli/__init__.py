"""Tests of the videoapi command (videoapi_async.cli)."""
