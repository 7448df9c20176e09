"""Forms of the auth package (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("邮箱", validators=[DataRequired("请填写邮箱"), Length(max=254)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=200)])
    remember = BooleanField("记住我（在此设备上保持登录）")
    next = StringField()
