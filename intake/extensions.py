"""Bare extension instances; each is bound to an app inside the factory only."""

import datetime as dt

from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Every timestamp is UTC and says so (PostgreSQL keeps the zone; SQLite drops it).
    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
