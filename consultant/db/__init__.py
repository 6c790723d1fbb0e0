"""Database layer: declarative base, engine/session factory, models, migrations."""
