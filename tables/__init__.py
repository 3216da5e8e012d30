"""The analysts' workbooks for the atone card (package data of ``decide.atone``)."""
