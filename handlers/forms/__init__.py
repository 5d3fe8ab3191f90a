"""Dialogues declared as data: a list of typed fields, asked one at a time by one runner.

    from handlers.forms import Day, Form, Text, register, start

    REPORT = register(Form(
        name="report", title=N_("A new report."), role=Role.member, on_save=save_report,
        fields=(Text(name="title", label=N_("Title"), question=N_("What is it called?")),
                Day(name="on", label=N_("Date"), question=N_("Which day?"), check_day=not_past)),
    ))
    await start(turn, REPORT, raw={"on": "12/3/2026"})  # asks only the title

``on_save(turn, values)`` gets typed values (dates as ``date``, money as ``int``, None for a
skipped field) and may raise ``FormError`` to go back to a field or the summary.
"""

from handlers.forms.engine import FORMS, Form, FormError, register, start
from handlers.forms.fields import (
    Choice,
    Count,
    Ctx,
    Day,
    DayRange,
    Field,
    FieldError,
    Money,
    MultiChoice,
    Option,
    Period,
    Text,
    Url,
    YesNo,
    not_future,
    not_past,
)

__all__ = [
    "FORMS", "Choice", "Count", "Ctx", "Day", "DayRange", "Field", "FieldError", "Form",
    "FormError", "Money", "MultiChoice", "Option", "Period", "Text", "Url", "YesNo",
    "not_future", "not_past", "register", "start",
]
