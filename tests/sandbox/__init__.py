"""Tests of the sandbox server (videoapi_async.sandbox)."""
