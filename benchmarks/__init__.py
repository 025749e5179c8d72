"""Benchmarks of videoapi_async against the local sandbox: ``python -m benchmarks``.

See ``benchmarks/README.md`` for what each section measures and how to read the results.
"""
