"""Saving a page form, written once for every page.

    done = attempt(session, save)        # save() parses the form and calls the service
    if done.error:
        return render(..., {"errors": done.messages()}, status_code=done.status)

`save` runs in a savepoint. An error the person can put right on the same form — 422 (bad input), 409
(conflicts with what is recorded) or 412 (the record changed meanwhile) — rolls the savepoint back and comes
back as `done.error`, to be shown beside the fields with the form as it was typed. Any other error (403, 404,
…) goes on to the error page. Nothing the failed attempt wrote is kept.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.errors import AppError, FieldError, ValidationFailed, translate

T = TypeVar("T")

INLINE = frozenset({409, 412, 422})


def field_message(e: FieldError) -> str:
    """A field's message without the "field：" prefix, for showing beside the field itself."""
    return e.message.split("：", 1)[1] if e.message.startswith(f"{e.field}：") else e.message


@dataclass
class Attempt(Generic[T]):
    value: T | None = None
    error: AppError | None = None

    @property
    def status(self) -> int:
        return self.error.status_code if self.error is not None else 200

    def messages(self) -> list[str]:
        """The messages to list above a form: a conflict's detail says what stands in the way."""
        e = self.error
        if e is None:
            return []
        if e.status_code == 409:
            return [e.detail, *(x.message for x in e.errors)]
        return [x.message for x in e.errors] or [e.detail]

    def field_errors(self) -> list[FieldError]:
        """The errors by field; an error of the whole form is named "form"."""
        e = self.error
        if e is None:
            return []
        return e.errors or [FieldError("form", e.detail)]

    def by_field(self) -> dict[str, str]:
        """The first message per form field (`amount.yuan` is shown by `amount`)."""
        out: dict[str, str] = {}
        for x in self.field_errors():
            out.setdefault(x.field.split(".")[0], field_message(x))
        return out


def form_date(value, field: str, message: str) -> date:
    """A date typed into a form (YYYY-MM-DD); anything else is a 422 on `field` saying `message`."""
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise ValidationFailed.one(field, message) from None


def invalid(exc: ValidationError) -> ValidationFailed:
    """A form model's validation error as the usual Chinese 422."""
    return ValidationFailed([translate(x) for x in exc.errors()])


def attempt(session: Session, save: Callable[[], T], *, inline: Collection[int] = INLINE) -> Attempt[T]:
    """Run `save()` in a savepoint; an error shown inline comes back in the result, any other is raised."""
    try:
        with session.begin_nested():
            return Attempt(value=save())
    except ValidationError as e:
        return Attempt(error=invalid(e))
    except AppError as e:
        if e.status_code not in inline:
            raise
        return Attempt(error=e)
