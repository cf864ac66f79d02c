// The awkward text real stores hold: commas, quotes, newlines, tabs, ampersands, angle
// brackets, accents, CJK, emoji, right-to-left scripts and cells that look like formulas.

enum TextPools {
    static let firstNames = ["Jane", "Zoë", "Ренат", "陽菜", "Ómar", "Siobhán", "محمد", "François", "Ngozi", "Björk", "Renée", "Łukasz", "Aarav", "O'Brien"]
    static let lastNames = ["Smith", "Åkesson", "佐藤", "Müller", "García-López", "O'Connor", "Nguyễn", "Ковалёв", "بن علي", "d'Arcy", "Smith, Jr.", "\"Bud\" Jones"]
    static let companies = ["", "", "", "Smith, Jones & Co", "\"Best\" Widgets Ltd", "=HYPERLINK(\"x\")", "+Plus Trading", "Café <Noir>", "株式会社テスト", "Tab\tSeparated Ltd"]
    static let streets = ["12 High Street", "Rue de l'Église 4", "東京都渋谷区 1-2-3", "Flat 3, 7 Queen's Road", "Calle Mayor, 5 – 2º", "٣٤ شارع النيل", "Hauptstraße 1"]
    static let notes = ["", "", "", "Leave with neighbour, \"No. 7\"\n\tring twice 🎁", "<b>fragile</b> & heavy", "=1+1", "+44 call first", "Línea 1\r\nLínea 2", "请放在门口", "שלום", "-not a formula"]
    static let productWords = ["Organic", "Classic", "Café", "Über", "Deluxe", "Tee", "Mug", "Jumper", "緑茶", "Gift 🎁", "\"Retro\"", "Socks, 3-pack", "Bag & Co", "<Limited>"]
    static let frenchWords = ["Bio", "Classique", "Café", "Pull", "Tasse", "Chaussettes, lot de 3", "Cadeau 🎁", "« Rétro »"]
    static let germanWords = ["Bio", "Klassisch", "Kaffee", "Pullover", "Becher", "Socken, 3er-Pack", "Geschenk 🎁", "„Retro“"]
    static let colours = ["Red", "Blue", "Green", "Black", "Off-white", "Navy \"Ink\"", "Rosé"]
    static let frenchColours = ["Rouge", "Bleu", "Vert", "Noir", "Blanc cassé", "Marine « Encre »", "Rosé"]
    static let sizes = ["XS", "S", "M", "L", "XL", "XXL", "6", "8", "10", "12", "14", "16"]
    static let categories = [(1, "Clothing", "Clothing"), (12, "Tops", "Clothing | Tops"), (13, "Knitwear", "Clothing | Knitwear"),
                             (20, "Home", "Home"), (21, "Mugs & Cups", "Home | Mugs & Cups"), (3, "Sale", "Sale"), (40, "Gifts", "Gifts")]
    static let countries: [(id: Int, iso: String, name: String, postcode: String)] = [
        (1, "gb", "United Kingdom", "WN7 1TX"), (11, "fr", "France", "01234"), (14, "de", "Germany", "01067"),
        (81, "jp", "Japan", "150-0002"), (223, "us", "United States", "02134"), (20, "eg", "Egypt", "11511"),
        (105, "kw", "Kuwait", "13001"),
    ]
}
