"""Alembic environment: runs against the engine the hub hands over in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from hub.store.tables import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
