"""
Scaling out with Dask
=====================

This example is being written.
"""
