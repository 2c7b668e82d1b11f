"""Queries written once, in SQL, where compiling the ORM's query for every request costs
more than running it (checkout.auth, checkout.selectors): their identifiers come from
the models' metadata, quoted for the database in use; values are always parameters."""

from django.db import connection
from django.db.models import Field, Model


def quoted_table(model: type[Model]) -> str:
    """A model's table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)


def quoted_column(model: type[Model], name: str) -> str:
    """The column of a model's field `name`, quoted for the database."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} has no column")
    return connection.ops.quote_name(field.column)
