"""The console's two languages. English text is the key; the Arabic table gives its
translation, and a phrase missing there shows in English rather than not at all."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "ar")
DIRECTION = {"en": "ltr", "ar": "rtl"}

ARABIC = {
    "Operations console": "لوحة العمليات",
    "Muscat integration hub": "منصة التكامل لبلدية مسقط",
    "Overview": "نظرة عامة",
    "Cases": "الحالات",
    "Dead letters": "الرسائل المتوقفة",
    "Agencies": "الجهات",
    "Audit": "التدقيق",
    "Partners": "الشركاء",
    "Sign in": "تسجيل الدخول",
    "Sign out": "تسجيل الخروج",
    "Name": "الاسم",
    "Password": "كلمة المرور",
    "Wrong name or password.": "الاسم أو كلمة المرور غير صحيحة.",
    "Signed in as": "مسجل الدخول باسم",
    "Role": "الدور",
    "Status": "الحالة",
    "Messages by status": "الرسائل حسب الحالة",
    "Last hour, per minute": "آخر ساعة، في الدقيقة",
    "Type": "النوع",
    "Outcome": "النتيجة",
    "per minute": "في الدقيقة",
    "Queue depth": "عمق الطابور",
    "Unsent results": "نتائج لم ترسل",
    "Retrying": "قيد إعادة المحاولة",
    "Dead": "متوقفة",
    "Failed": "فاشلة",
    "Last audit verify": "آخر تحقق من سجل التدقيق",
    "never run from the console": "لم يجر من اللوحة بعد",
    "intact": "سليم",
    "problems found": "وجدت مشكلات",
    "Received in the last hour, per 5 minutes": "المستلمة في آخر ساعة، كل 5 دقائق",
    "Updated": "حدّث",
    "Search": "بحث",
    "Correlation id": "معرف الحالة",
    "Agency": "الجهة",
    "Since": "منذ",
    "Until": "حتى",
    "Civil id": "الرقم المدني",
    "Search by civil id": "البحث بالرقم المدني",
    "Messages": "الرسائل",
    "Received": "استلمت",
    "Attempts": "المحاولات",
    "Last error": "آخر خطأ",
    "No messages match.": "لا توجد رسائل مطابقة.",
    "Timeline": "التسلسل الزمني",
    "Case": "الحالة",
    "Time": "الوقت",
    "Step": "الخطوة",
    "Detail": "التفاصيل",
    "Decision reasons": "أسباب القرار",
    "Results": "النتائج",
    "Download the audit export": "تنزيل سجل التدقيق",
    "Cause": "السبب",
    "Count": "العدد",
    "Dry run": "تجربة دون تنفيذ",
    "Replay a filtered set": "إعادة تشغيل مجموعة مصفاة",
    "Replay": "إعادة التشغيل",
    "Reason": "السبب",
    "I have read the dry run and want to replay these messages.": (
        "قرأت نتيجة التجربة وأريد إعادة تشغيل هذه الرسائل."
    ),
    "Replay now": "أعد التشغيل الآن",
    "Dry run: nothing was changed": "تجربة: لم يتغير شيء",
    "Action": "الإجراء",
    "Why": "لماذا",
    "Replay progress": "تقدم إعادة التشغيل",
    "Message now": "الرسالة الآن",
    "finished": "انتهى",
    "running": "قيد التنفيذ",
    "Nothing is dead, failed or retrying.": "لا توجد رسائل متوقفة أو فاشلة أو قيد إعادة المحاولة.",
    "Circuit": "الدائرة",
    "Calls (1 h)": "الاستدعاءات (ساعة)",
    "Error rate": "معدل الأخطاء",
    "Latency p50 / p95 / p99 (ms)": "زمن الاستجابة p50 / p95 / p99 (ملي ثانية)",
    "Simulator fault": "عطل المحاكي",
    "Switch": "تبديل",
    "Calls in the last hour": "الاستدعاءات في آخر ساعة",
    "Run verify": "تشغيل التحقق",
    "Checkpoints": "نقاط التثبيت",
    "Findings": "النتائج",
    "Entries": "القيود",
    "Grants": "الصلاحيات",
    "Revoked": "ملغى",
    "Revoke": "إلغاء",
    "Recent denials": "حالات الرفض الأخيرة",
    "Not allowed": "غير مسموح",
    "Your role does not allow this.": "دورك لا يسمح بهذا.",
    "Export": "تصدير",
    "Go": "انتقال",
    "Language": "اللغة",
}


def translator(language: str) -> Callable[[str], str]:
    """`t(text)` for one page: the Arabic for `text` when the page is in Arabic."""
    if language == "ar":
        return lambda text: ARABIC.get(text, text)
    return lambda text: text
