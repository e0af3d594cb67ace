"""Fixtures for the local rekognition server."""
