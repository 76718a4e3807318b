from tests.sms.conftest import *  # noqa: F401,F403
