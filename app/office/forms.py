from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Optional as Opt


class ActionForm(FlaskForm):
    """An empty form: a POST button that carries the CSRF token."""


class RuleForm(FlaskForm):
    hours = StringField("hours", validators=[Opt()])
    gates = StringField("gates", validators=[Opt()])
    anti_passback = BooleanField("anti_passback")
    temperature_required = BooleanField("temperature_required")
