# The public names of mainsail.registry: this stub is their one list; __init__.py loads each
# lazily from here (lazy_loader), so importing one module of the package stays light.

from ._card import render_html as render_html
from ._card import render_markdown as render_markdown
from ._registry import LoadedModel as LoadedModel
from ._registry import load_model as load_model
from ._registry import load_model_dir as load_model_dir
from ._registry import materialise as materialise
from ._registry import register_model as register_model
from ._signature import ModelSignature as ModelSignature
from ._signature import infer_signature as infer_signature
from ._signature import prepare_input as prepare_input
from ._versions import alias_history as alias_history
from ._versions import archive_version as archive_version
from ._versions import delete_alias as delete_alias
from ._versions import delete_version as delete_version
from ._versions import get_model_version as get_model_version
from ._versions import list_model_versions as list_model_versions
from ._versions import list_models as list_models
from ._versions import resolve_version as resolve_version
from ._versions import set_alias as set_alias
from ._versions import unarchive_version as unarchive_version
from ._versions import update_model_card as update_model_card
