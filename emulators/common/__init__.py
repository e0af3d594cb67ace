"""What both local stand-ins share: the HTTP plumbing (`http`), the `/_admin/` fault injector
(`faults`) and call counters (`stats`), and the client tests and scripts use to reach those
routes (`admin_client`)."""
