"""Console routes: pages, admin pages, the JSON API."""
