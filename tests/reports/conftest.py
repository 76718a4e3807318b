from tests.sms.conftest import *  # noqa: F403
