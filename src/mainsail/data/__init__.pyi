# The public names of mainsail.data: this stub is their one list; __init__.py loads each
# lazily from here (lazy_loader), so importing one module of the package stays light.

from ._datasets import get_dataset as get_dataset
from ._datasets import list_dataset_versions as list_dataset_versions
from ._datasets import list_datasets as list_datasets
from ._datasets import load_dataset as load_dataset
from ._datasets import log_dataset as log_dataset
from ._datasets import resolve_dataset_version as resolve_dataset_version
from ._datasets import validate_dataset as validate_dataset
from ._profile import ColumnProfile as ColumnProfile
from ._profile import Profile as Profile
from ._profile import profile_frame as profile_frame
from ._schema import ColumnSchema as ColumnSchema
from ._schema import Schema as Schema
from ._schema import infer_schema as infer_schema
from ._validate import ValidationReport as ValidationReport
from ._validate import Violation as Violation
from ._validate import validate as validate
