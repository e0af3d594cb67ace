"""Fixtures for the local cloudinary server."""
