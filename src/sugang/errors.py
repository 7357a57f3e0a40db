"""Every refusal the service can give: a stable code, an HTTP status and ko/en messages."""

from typing import Any, ClassVar


class SugangError(Exception):
    code: ClassVar[str] = "ERROR"
    status: ClassVar[int] = 400
    message_en: ClassVar[str] = "The request was refused."
    message_ko: ClassVar[str] = "요청이 거절되었습니다."

    def __init__(self, **detail: Any) -> None:
        super().__init__(self.code)
        self.detail = detail

    def messages(self) -> dict[str, str]:
        return {
            "ko": self.message_ko.format_map(_Lenient(self.detail)),
            "en": self.message_en.format_map(_Lenient(self.detail)),
        }

    def to_body(self, language: str = "ko") -> dict[str, Any]:
        messages = self.messages()
        return {
            "code": self.code,
            "message": messages.get(language, messages["en"]),
            "messages": messages,
            "detail": self.detail,
        }


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


# --- enrollment rules -------------------------------------------------------------------


class WindowClosed(SugangError):
    code = "WINDOW_CLOSED"
    status = 403
    message_en = "Your registration window is not open now."
    message_ko = "지금은 수강신청 기간이 아닙니다."


class BasketClosed(SugangError):
    code = "BASKET_CLOSED"
    status = 403
    message_en = "The basket (pre-registration) period is not open now."
    message_ko = "지금은 장바구니 기간이 아닙니다."


class SectionClosed(SugangError):
    code = "SECTION_CLOSED"
    status = 409
    message_en = "This section is closed for registration."
    message_ko = "이 분반은 신청이 마감(폐강)되었습니다."


class SectionFull(SugangError):
    code = "SECTION_FULL"
    status = 409
    message_en = "The section is full ({capacity} seats). You may join the waitlist."
    message_ko = "정원({capacity}명)이 모두 찼습니다. 대기 신청을 할 수 있습니다."


class AlreadyEnrolled(SugangError):
    code = "ALREADY_ENROLLED"
    status = 409
    message_en = "You are already enrolled in {course_code}."
    message_ko = "이미 {course_code} 과목을 신청했습니다."


class AlreadyWaitlisted(SugangError):
    code = "ALREADY_WAITLISTED"
    status = 409
    message_en = "You are already on the waitlist of this section (position {position})."
    message_ko = "이미 이 분반의 대기자 명단에 있습니다 ({position}번째)."


class TimeConflict(SugangError):
    code = "TIME_CONFLICT"
    status = 409
    message_en = "The meeting times overlap with {conflicting_course_code} ({conflicting_slot})."
    message_ko = "{conflicting_course_code} 과목과 수업 시간이 겹칩니다 ({conflicting_slot})."


class CreditLimit(SugangError):
    code = "CREDIT_LIMIT"
    status = 422
    message_en = (
        "This would bring you to {would_have} credits, {over_by} over your limit of {limit}."
    )
    message_ko = "신청하면 {would_have}학점이 되어 최대 {limit}학점을 {over_by}학점 초과합니다."


class PrerequisiteMissing(SugangError):
    code = "PREREQUISITE_MISSING"
    status = 422
    message_en = "You have not completed the prerequisite course(s): {missing_text}."
    message_ko = "선수과목을 이수하지 않았습니다: {missing_text}."


class NotEnrolled(SugangError):
    code = "NOT_ENROLLED"
    status = 404
    message_en = "You are neither enrolled in nor waitlisted for this section."
    message_ko = "이 분반에 신청하거나 대기 중인 내역이 없습니다."


class AlreadyInBasket(SugangError):
    code = "ALREADY_IN_BASKET"
    status = 409
    message_en = "{course_code} is already in your basket."
    message_ko = "{course_code} 과목이 이미 장바구니에 있습니다."


class NotInBasket(SugangError):
    code = "NOT_IN_BASKET"
    status = 404
    message_en = "This section is not in your basket."
    message_ko = "이 분반은 장바구니에 없습니다."


# --- the waiting room ---------------------------------------------------------------------


class AdmissionRequired(SugangError):
    code = "ADMISSION_REQUIRED"
    status = 401
    message_en = "Registration is busy: please wait your turn in the queue first."
    message_ko = "지금은 접속 대기열을 거쳐야 신청할 수 있습니다. 대기열에서 순서를 기다려 주세요."


class AdmissionInvalid(SugangError):
    code = "ADMISSION_INVALID"
    status = 401
    message_en = "This admission pass is not valid; please rejoin the queue."
    message_ko = "입장권이 올바르지 않습니다. 대기열에 다시 들어가 주세요."


class AdmissionExpired(SugangError):
    code = "ADMISSION_EXPIRED"
    status = 401
    message_en = "Your admission pass has expired; please rejoin the queue."
    message_ko = "입장 시간이 만료되었습니다. 대기열에 다시 들어가 주세요."


class AdmissionNotYours(SugangError):
    code = "ADMISSION_NOT_YOURS"
    status = 403
    message_en = "This admission pass belongs to someone else."
    message_ko = "다른 사람의 입장권입니다."


class TicketInvalid(SugangError):
    code = "TICKET_INVALID"
    status = 404
    message_en = "This queue ticket is not valid (or not yours); take a new one."
    message_ko = "대기표가 올바르지 않습니다. 새 대기표를 받아 주세요."


class QueueClosed(SugangError):
    code = "QUEUE_CLOSED"
    status = 409
    message_en = "The waiting room is not taking new tickets now."
    message_ko = "지금은 대기열에 새로 들어갈 수 없습니다."


class NotInRushMode(SugangError):
    code = "NOT_IN_RUSH_MODE"
    status = 409
    message_en = "This term has no waiting room now; you can register directly."
    message_ko = "지금은 대기열 없이 바로 신청할 수 있습니다."


class QueueUnavailable(SugangError):
    code = "QUEUE_UNAVAILABLE"
    status = 503
    message_en = "The waiting room is briefly unavailable; please try again in a moment."
    message_ko = "대기열 서비스에 잠시 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


# --- general ------------------------------------------------------------------------------


class NotFound(SugangError):
    code = "NOT_FOUND"
    status = 404
    message_en = "The {what} was not found."
    message_ko = "{what_ko}을(를) 찾을 수 없습니다."


class Conflict(SugangError):
    code = "CONFLICT"
    status = 409
    message_en = "{reason}"
    message_ko = "{reason_ko}"


class CapacityBelowEnrolled(SugangError):
    code = "CAPACITY_BELOW_ENROLLED"
    status = 409
    message_en = "Capacity cannot be set below the {enrolled} students already enrolled."
    message_ko = "이미 신청한 {enrolled}명보다 작게 정원을 줄일 수 없습니다."


class SectionHasEnrollments(SugangError):
    code = "SECTION_HAS_ENROLLMENTS"
    status = 409
    message_en = "The section has {enrolled} enrolled students; close it instead of deleting it."
    message_ko = "수강생이 {enrolled}명 있는 분반은 삭제할 수 없습니다. 대신 마감하세요."


class InvalidRequest(SugangError):
    code = "INVALID_REQUEST"
    status = 422
    message_en = "The request is not valid: {reason}"
    message_ko = "요청이 올바르지 않습니다: {reason}"


class ImportInvalid(SugangError):
    code = "IMPORT_INVALID"
    status = 422
    message_en = "The file has {error_count} invalid row(s); nothing was written."
    message_ko = "파일에 잘못된 행이 {error_count}개 있어 아무것도 저장하지 않았습니다."


class IdempotencyKeyReused(SugangError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    message_en = "This Idempotency-Key was already used for a different request."
    message_ko = "이 Idempotency-Key는 다른 요청에 이미 사용되었습니다."


class NotAuthenticated(SugangError):
    code = "NOT_AUTHENTICATED"
    status = 401
    message_en = "Please log in again."
    message_ko = "다시 로그인해 주세요."


class BadCredentials(SugangError):
    code = "BAD_CREDENTIALS"
    status = 401
    message_en = "The student number (or user name) or the password is wrong."
    message_ko = "학번(아이디) 또는 비밀번호가 올바르지 않습니다."


class AccountDisabled(SugangError):
    code = "ACCOUNT_DISABLED"
    status = 403
    message_en = "This account is disabled; please contact the registrar's office."
    message_ko = "사용이 중지된 계정입니다. 학사지원팀에 문의하세요."


class CurrentPasswordWrong(SugangError):
    code = "CURRENT_PASSWORD_WRONG"
    status = 422
    message_en = "The current password is wrong; the password was not changed."
    message_ko = "현재 비밀번호가 올바르지 않아 비밀번호를 바꾸지 않았습니다."


class Forbidden(SugangError):
    code = "FORBIDDEN"
    status = 403
    message_en = "You are not allowed to do this."
    message_ko = "이 작업을 할 권한이 없습니다."


class RateLimited(SugangError):
    code = "RATE_LIMITED"
    status = 429
    message_en = "Too many requests; try again in {retry_after} s."
    message_ko = "요청이 너무 많습니다. {retry_after}초 후에 다시 시도하세요."


class LoginThrottled(SugangError):
    code = "LOGIN_THROTTLED"
    status = 429
    message_en = "Too many failed logins; try again in {retry_after} s."
    message_ko = "로그인 실패가 너무 많습니다. {retry_after}초 후에 다시 시도하세요."


class HashingBusy(SugangError):
    code = "LOGIN_BUSY"
    status = 503
    message_en = "Too many logins at this moment; try again in {retry_after} s."
    message_ko = "지금 로그인이 몰리고 있습니다. {retry_after}초 후에 다시 시도하세요."


class ChallengeRequired(SugangError):
    code = "CHALLENGE_REQUIRED"
    status = 428
    message_en = "Please wait a moment while your device confirms it is not a bot."
    message_ko = "자동 접속 방지 확인 중입니다. 잠시 기다려 주세요."


class TooManyStreams(SugangError):
    code = "TOO_MANY_STREAMS"
    status = 429
    message_en = "You already have {limit} live queue pages open; close one first."
    message_ko = "대기열 화면이 이미 {limit}개 열려 있습니다. 하나를 닫고 다시 시도하세요."


class RequestTooLarge(SugangError):
    code = "REQUEST_TOO_LARGE"
    status = 413
    message_en = "The request is too large (at most {limit} bytes here)."
    message_ko = "요청이 너무 큽니다 (최대 {limit}바이트)."


class Unavailable(SugangError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    message_en = "The service is busy; try again in a moment."
    message_ko = "서비스가 혼잡합니다. 잠시 후 다시 시도하세요."


class Internal(SugangError):
    code = "INTERNAL"
    status = 500
    message_en = "Something went wrong on our side; your request may not have been applied."
    message_ko = "서버 오류가 발생했습니다. 요청이 처리되지 않았을 수 있습니다."
