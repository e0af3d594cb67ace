"""A local stand-in for the Cloudinary APIs facetag uses (development only, never packaged).

The unmodified `cloudinary` SDK talks to it through configuration alone. Laid out like the
Rekognition stand-in: `assets` (the library's values and tag rules), `store` (the library, no
HTTP), `originals`, `triggers` and `state_dir` (bytes, webhook triggers, `--state-dir`),
`expression`, `terms` and `search` (the Search language and its paging), `delivery`
(transformations rendered with Pillow), `exceptions` (one class per Cloudinary error),
`wire` and `shapes` (request decoding and answer shapes), `upload_api` (with `chunks` for
chunked uploads), `admin_api` (with `resources_api` for `/resources`) and `cdn` (the three
kinds of route), `notifications` and `notifier` (what is sent, and the sending),
`rate_limit`, `service` (configuration and the parts every route shares), `controls` (the
`/_admin/` test routes) and `server` (HTTP).
"""
