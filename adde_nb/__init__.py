__version__ = "0.1.0"

import warnings as _warnings
# fastai's layers module applies `torch.jit.script` at import time, which torch 2.14 deprecates: a
# warning the user can do nothing about, printed on every `import adde_nb...` and every `adde` command.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
# fastai.callback.schedule imports fastai.tabular, which sets a pandas option pandas 3 deprecates: the same kind of warning.
_warnings.filterwarnings('ignore', message=r"The 'mode\.chained_assignment' option is deprecated")
