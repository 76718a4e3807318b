from fastapi import APIRouter

router = APIRouter(prefix="/twilio/voice", tags=["twilio"])
