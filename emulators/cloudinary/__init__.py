"""A local stand-in for the Cloudinary APIs facetag uses (development only, never packaged)."""
