"""Forms for registration, login and password reset."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from shop.core.fields import strip
from shop.models import lengths
from shop.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


def email_field(label: str = "Email") -> EmailField:
    """Return an email field limited to the longest valid address."""
    return EmailField(label, filters=[strip], validators=[
        DataRequired("Please enter your email address."), Length(max=lengths.EMAIL)])


def new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    """Return a new-password field and its confirmation."""
    password = PasswordField(label, validators=[
        DataRequired("Please choose a password."),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
               message=f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."),
    ], render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH, "maxlength": MAX_PASSWORD_LENGTH})
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired("Please repeat the password."), EqualTo("password", "The two passwords do not match."),
    ], render_kw={"autocomplete": "new-password"})
    return password, confirm


class RegisterForm(FlaskForm):
    email = email_field()
    name = StringField("Name", filters=[strip], validators=[
        DataRequired("Please enter your name."), Length(max=lengths.PERSON_NAME)])
    password, confirm = new_password_fields()


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField("Password", validators=[
        DataRequired("Please enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me logged in on this device")


class ResetRequestForm(FlaskForm):
    email = email_field()


class ResetPasswordForm(FlaskForm):
    password, confirm = new_password_fields("New password")
