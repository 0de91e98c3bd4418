"""Benchmarks of zcrm_async against raw aiohttp, naive clients and Zoho's official SDK: ``python -m benchmarks``.

See ``benchmarks/README.md`` for what each figure means and the table recorded on the reference machine.
"""
