"""Bare extension instances; each is bound to an app inside the factory only."""

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase, registry


class Base(DeclarativeBase):
    # Every timestamp is UTC and says so (PostgreSQL keeps the zone; SQLite drops it).
    # Given to the registry, not as a class attribute: Flask-SQLAlchemy copies the base's
    # attributes, and SQLAlchemy 2.1 refuses a copied registry next to a type_annotation_map.
    registry = registry(type_annotation_map={dt.datetime: DateTime(timezone=True)})


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # db.Model is made at run time from Base; type checkers see Base itself.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
#: Storage comes from RATELIMIT_STORAGE_URI (memory:// by default; use redis:// with several workers).
limiter = Limiter(key_func=get_remote_address)
