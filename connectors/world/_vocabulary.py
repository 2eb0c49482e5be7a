"""The words of the simulated Muscat business world: wilayats, trading names, activities, legal
forms and Omani names in English and Arabic, laid out as tables for `connectors.world`."""

from __future__ import annotations

# fmt: off
WILAYATS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    # wilayat: (Arabic, areas (English, Arabic))
    "Muscat": ("مسقط", (("Old Muscat", "مسقط القديمة"), ("Sidab", "سداب"))),
    "Muttrah": ("مطرح", (("Ruwi", "روي"), ("Wadi Kabir", "الوادي الكبير"), ("Darsait", "دارسيت"))),
    "Bawshar": ("بوشر", (("Al Khuwair", "الخوير"), ("Ghala", "غلا"), ("Al Ghubrah", "الغبرة"))),
    "Seeb": ("السيب", (("Al Mabelah", "المعبيلة"), ("Al Hail", "الحيل"), ("Al Khoud", "الخوض"),
                      ("Al Mawaleh", "الموالح"))),
    "Al Amerat": ("العامرات", (("Al Amerat", "العامرات"), ("Al Nahdha", "النهضة"))),
    "Qurayyat": ("قريات", (("Qurayyat", "قريات"), ("Dhabab", "ضباب"))),
}
WILAYAT_WEIGHTS = [6, 14, 16, 20, 6, 3]
ROOTS = [
    ("Al Noor", "النور"), ("Al Amal", "الأمل"), ("Al Waha", "الواحة"), ("Al Khaleej", "الخليج"),
    ("Al Fajr", "الفجر"), ("Al Sahil", "الساحل"), ("Al Bustan", "البستان"), ("Al Najah", "النجاح"),
    ("Al Wadi", "الوادي"), ("Al Jabal Al Akhdar", "الجبل الأخضر"), ("Al Qurum", "القرم"),
    ("Muscat Pearl", "لؤلؤة مسقط"), ("Bait Al Luban", "بيت اللبان"), ("Al Mouj", "الموج"),
    ("Al Rawdha", "الروضة"), ("Al Hilal", "الهلال"), ("Al Jazeera", "الجزيرة"),
    ("Al Manar", "المنار"), ("Al Shumookh", "الشموخ"), ("Al Ufuq", "الأفق"), ("Al Reem", "الريم"),
    ("Al Shurooq", "الشروق"), ("Al Harthy Brothers", "إخوان الحارثي"),
    ("Al Balushi United", "البلوشي المتحدة"), ("Al Busaidi Group", "مجموعة البوسعيدي"),
    ("Sohar Star", "نجمة صحار"), ("Al Batinah Gate", "بوابة الباطنة"), ("Al Marafa", "المرفأ"),
]
# (business English, business Arabic, activities that fit it: (ISIC code, English, Arabic))
TRADES = [
    ("Trading", "للتجارة", (
        ("4690", "Non-specialised wholesale trade", "البيع بالجملة لتشكيلة متنوعة من السلع"),
        ("4711", "Retail sale in non-specialised stores, mainly food",
         "البيع بالتجزئة في المتاجر غير المتخصصة التي يغلب عليها بيع الأغذية"))),
    ("Contracting", "للمقاولات", (
        ("4100", "Construction of buildings", "تشييد المباني"),
        ("4321", "Electrical installation", "التركيبات الكهربائية"))),
    ("Restaurants", "للمطاعم", (
        ("5610", "Restaurants and mobile food service activities",
         "أنشطة المطاعم وخدمات الأطعمة المتنقلة"),)),
    ("Cafe", "للمقاهي", (("5630", "Beverage serving activities", "أنشطة تقديم المشروبات"),)),
    ("Bakeries", "للمخبوزات", (("1071", "Manufacture of bakery products", "صنع منتجات المخابز"),)),
    ("Laundry Services", "لخدمات الغسيل", (
        ("9601", "Washing and dry-cleaning of textile and fur products",
         "غسل وتنظيف المنسوجات ومنتجات الفراء"),)),
    ("Auto Services", "لخدمات السيارات", (
        ("4520", "Maintenance and repair of motor vehicles", "صيانة وإصلاح المركبات ذات المحركات"),
        ("4530", "Sale of motor vehicle parts and accessories",
         "بيع قطع غيار المركبات ذات المحركات ولوازمها"))),
    ("Tailoring", "للخياطة", (("1410", "Manufacture of wearing apparel", "صنع الملابس"),)),
    ("Building Materials", "لمواد البناء", (
        ("4752", "Retail sale of hardware, paints and glass",
         "البيع بالتجزئة للأدوات المعدنية والدهانات والزجاج"),)),
    ("Travel and Tourism", "للسفر والسياحة", (
        ("7911", "Travel agency activities", "أنشطة وكالات السفر"),)),
    ("Information Technology", "لتقنية المعلومات", (
        ("6201", "Computer programming activities", "أنشطة البرمجة الحاسوبية"),)),
    ("Stationery", "للقرطاسية", (
        ("4761", "Retail sale of books, newspapers and stationery",
         "البيع بالتجزئة للكتب والصحف والأدوات المكتبية"),)),
    ("Beauty Salon", "للتجميل", (
        ("9602", "Hairdressing and other beauty treatment",
         "تصفيف الشعر وغيره من أنشطة التجميل"),)),
    ("Fisheries", "للأسماك", (
        ("4630", "Wholesale of food, beverages and tobacco",
         "البيع بالجملة للأغذية والمشروبات والتبغ"),)),
]
TRADE_WEIGHTS = [14, 9, 8, 7, 4, 4, 6, 4, 5, 3, 3, 2, 3, 2]
# (code, English, Arabic, English name suffix, Arabic name pattern)
LEGAL_FORMS = [
    ("LLC", "Limited Liability Company", "شركة محدودة المسؤولية", "LLC", "شركة {} ش.م.م"),
    ("SPC", "Single Person Company", "شركة الشخص الواحد", "SPC", "شركة {} ش.ش.و"),
    ("EST", "Sole Proprietorship", "مؤسسة فردية", "Est.", "مؤسسة {}"),
    ("SAOC", "Closed Joint Stock Company", "شركة مساهمة عمانية مقفلة", "SAOC", "شركة {} ش.م.ع.م"),
]
LEGAL_WEIGHTS = [50, 20, 25, 5]
MALE = [
    ("Salim", "سالم"), ("Hamad", "حمد"), ("Said", "سعيد"), ("Khalid", "خالد"), ("Ahmed", "أحمد"),
    ("Mohammed", "محمد"), ("Sultan", "سلطان"), ("Nasser", "ناصر"), ("Talal", "طلال"),
    ("Hilal", "هلال"), ("Badar", "بدر"), ("Yousuf", "يوسف"), ("Abdullah", "عبدالله"),
    ("Saif", "سيف"), ("Majid", "ماجد"), ("Rashid", "راشد"), ("Ali", "علي"), ("Faisal", "فيصل"),
]
FEMALE = [
    ("Aisha", "عائشة"), ("Fatma", "فاطمة"), ("Maryam", "مريم"), ("Zainab", "زينب"),
    ("Muna", "منى"), ("Shamsa", "شمسة"), ("Huda", "هدى"), ("Amal", "أمل"), ("Salma", "سلمى"),
]
FAMILIES = [
    ("Al Harthy", "الحارثي", "الحارثية"), ("Al Balushi", "البلوشي", "البلوشية"),
    ("Al Busaidi", "البوسعيدي", "البوسعيدية"), ("Al Hinai", "الهنائي", "الهنائية"),
    ("Al Kindi", "الكندي", "الكندية"), ("Al Rawahi", "الرواحي", "الرواحية"),
    ("Al Maamari", "المعمري", "المعمرية"), ("Al Lawati", "اللواتي", "اللواتية"),
    ("Al Siyabi", "السيابي", "السيابية"), ("Al Wahaibi", "الوهيبي", "الوهيبية"),
    ("Al Riyami", "الريامي", "الريامية"), ("Al Habsi", "الحبسي", "الحبسية"),
    ("Al Farsi", "الفارسي", "الفارسية"), ("Al Saadi", "السعدي", "السعدية"),
]
CLEARANCE_REFUSALS = [
    ("Omanisation below the ratio required for the activity",
     "نسبة التعمين أقل من النسبة المطلوبة للنشاط"),
    ("Wages not paid through the Wage Protection System",
     "عدم تحويل أجور العاملين عبر نظام حماية الأجور"),
    ("Unresolved labour complaint", "شكوى عمالية قائمة لم يتم البت فيها"),
    ("Work permits expired for some workers", "انتهاء تصاريح العمل لبعض العاملين"),
]
# fmt: on
