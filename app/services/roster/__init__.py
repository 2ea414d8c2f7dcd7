"""The office's roster (名册): one sheet, one row per person or per vehicle.

Offices keep their roster in Excel and pass it around as .xlsx or as CSV saved
by whichever Excel or WPS they have (UTF-8 with or without BOM, GBK, UTF-16).
The package follows the file's way through the service:

* ``columns``: the columns, their header spellings and the words they accept;
* ``reading``: bytes -> rows (``RosterFileError`` when the file as a whole is unreadable);
* ``checking``: rows -> records, one function per column, every bad row with its reason;
* ``writing``: records -> the database, all rows or none (``import_roster``);
* ``export``: the database -> rows that import back, and the empty template.

An office fixing line 37 must not find lines 2-36 imported already. ID-card
numbers are masked the moment a row is read; the full number is kept nowhere,
not even in an error message. No Flask request code here: the ``roster`` CLI
and the office page share it.
"""
from .checking import Record, RowError, check  # noqa: F401
from .columns import COLUMNS, HEADERS  # noqa: F401
from .export import TEMPLATE_NOTES, export_bytes, export_rows, template_bytes  # noqa: F401
from .reading import MAX_ROWS, RosterFileError, Sheet, decode_text, parse  # noqa: F401
from .writing import ImportResult, Summary, apply, import_roster  # noqa: F401
