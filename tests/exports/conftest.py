from tests.exports.libreoffice import calc  # noqa: F401  # LibreOffice Calc's own CSV import, for the exports
from tests.stats.conftest import file_application, tree  # noqa: F401  # shared fixtures: the union tree, applications
