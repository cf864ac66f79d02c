// Generates the demo store's products in the shape of the Product Get example of
// aurora-xml-api-product.txt: 0 to 40+ variations, prices in several currencies, categories,
// images and text in up to three languages.

struct ProductHeader: Sendable {
    var index: Int
    var id: Int
    var reference: String
    var display: Bool
    var created: Int64
    var modified: Int64
    var version: Int
}

enum ProductGenerator {
    static let firstProductID = 1
    static let languages = ["en-gb", "fr-fr", "de-de"]

    static func reference(_ index: Int) -> String {
        let n = String(index)
        return "P-" + String(repeating: "0", count: max(0, 6 - n.count)) + n
    }

    static func header(index: Int, config: DemoStoreConfig, version: Int = 0, modifiedOverride: Int64? = nil) -> ProductHeader {
        var r = SeededRandom(seed: config.seed, stream: 3, index: UInt64(index))
        let span = OrderGenerator.history / Int64(max(config.products, 1))
        let created = config.epoch - OrderGenerator.history + Int64(index) * span + Int64(r.next() % UInt64(max(span, 1)))
        let modified = min(config.epoch - 60, created + Int64(r.int(0...200 * 86_400)))
        let display = r.chance(0.85) != (version % 2 == 1)
        return ProductHeader(index: index, id: firstProductID + index, reference: reference(index), display: display,
                             created: created, modified: modifiedOverride ?? max(created, modified), version: version)
    }

    private static func variationCount(_ r: inout SeededRandom) -> Int {
        r.chance(0.05) ? 0 : r.chance(0.05) ? r.int(40...45) : r.int(1...6)
    }

    private static func name(_ r: inout SeededRandom, _ language: String) -> String {
        let pool = language == "fr-fr" ? TextPools.frenchWords : language == "de-de" ? TextPools.germanWords : TextPools.productWords
        return "\(r.pick(pool)) \(r.pick(pool))"
    }

    /// The languages this product's text comes in (always English first).
    private static func productLanguages(_ r: inout SeededRandom) -> [String] {
        r.chance(0.5) ? ["en-gb"] : r.chance(0.5) ? ["en-gb", "fr-fr"] : languages
    }

    static func renderMinimum(_ h: ProductHeader, into x: inout XMLBuilder) {
        x.open("Product")
        x.leaf("ProductID", h.id)
        x.leaf("ProductReference", h.reference)
        x.close("Product")
    }

    /// DetailLevel Language: identifiers and every language's text.
    static func renderLanguage(_ h: ProductHeader, config: DemoStoreConfig, into x: inout XMLBuilder) {
        var r = SeededRandom(seed: config.seed, stream: 4, index: UInt64(h.index))
        let langs = productLanguages(&r)
        x.open("Product")
        x.leaf("ProductID", h.id)
        x.leaf("ProductReference", h.reference)
        for lang in langs { x.leaf("ProductName", name(&r, lang) + (h.version > 0 ? " v\(h.version)" : ""), [("language", lang)]) }
        for lang in langs { x.cdata("ProductCopy", "<p>\(name(&r, lang)) & more</p>", [("language", lang)]) }
        x.close("Product")
    }

    static func renderFull(_ h: ProductHeader, config: DemoStoreConfig, into x: inout XMLBuilder) {
        var r = SeededRandom(seed: config.seed, stream: 4, index: UInt64(h.index))
        let langs = productLanguages(&r)
        let names = langs.map { name(&r, $0) + (h.version > 0 ? " v\(h.version)" : "") }
        let copies = langs.map { "<p>\(name(&r, $0)) & more</p>" }
        let basePrice = r.int(199...19999)
        x.open("Product")
        x.leaf("ProductID", h.id)
        x.leaf("ProductReference", h.reference)
        x.leaf("ProductEAN", r.chance(0.2) ? nil : "0" + r.digits(12))
        x.leaf("ProductStyleCode", "STYLE\(h.index % 97)")
        for (lang, text) in zip(langs, names) { x.leaf("ProductName", text, [("language", lang)]) }
        x.leaf("DisplayProduct", h.display ? "1" : "0")
        x.leaf("ProductStock", r.int(0...500))
        x.leaf("BinNumber", r.chance(0.5) ? nil : "A\(r.int(1...40))-\(r.digits(2))")
        x.open("Categories")
        for _ in 0..<r.int(0...3) {
            let c = r.pick(TextPools.categories)
            x.open("Category")
            x.leaf("ID", c.0)
            x.leaf("Name", c.1)
            x.leaf("NamePath", c.2)
            x.leaf("URL", c.2.lowercased().replacingOccurrences(of: " | ", with: "/").replacingOccurrences(of: " ", with: "-"))
            x.close("Category")
        }
        x.close("Categories")
        for (lang, text) in zip(langs, copies) { x.cdata("ProductCopy", text, [("language", lang)]) }
        x.leaf("MetaTitle", nil, [("language", "en-gb")])
        x.leaf("ProductUPC", nil)
        x.leaf("ProductFilename", "/products/\(h.reference.lowercased()).html")
        x.open("ProductPrices")
        renderPrice(&x, "GBP", basePrice, rrp: true)
        if r.chance(0.6) { renderPrice(&x, "EUR", basePrice * 117 / 100 + 5, rrp: true) }
        if r.chance(0.3) { renderPrice(&x, "USD", basePrice * 127 / 100, rrp: false) }
        x.close("ProductPrices")
        x.leaf("PriceBuyin", Money.text(basePrice / 3))
        x.leaf("StockControlEnabled", "1")
        x.leaf("RestockDate", r.chance(0.8) ? "0000-00-00" : DemoDates.day(h.modified + 30 * 86_400))
        x.leaf("ProductWeight", "\(r.int(0...5000)).0000")
        x.leaf("ProductWeightMeasurement", "grams")
        x.leaf("TaxRate", "20.00")
        x.open("Variations")
        let sizes = TextPools.sizes
        for v in 0..<variationCount(&r) {
            x.open("Variation")
            x.leaf("VariationID", 7_000_000 + h.index * 64 + v)
            x.leaf("VariationReference", "\(h.reference)-\(sizes[v % sizes.count])\(v >= sizes.count ? "-\(v / sizes.count)" : "")")
            x.leaf("VariationEAN", r.chance(0.1) ? nil : (r.chance(0.3) ? "00" + r.digits(11) : r.digits(13)))
            x.leaf("VariationStock", r.int(0...60))
            x.open("VariationPrices")
            renderPrice(&x, "GBP", basePrice + r.int(0...3) * 100, rrp: true)
            x.close("VariationPrices")
            x.leaf("VariationIsLive", r.chance(0.9) ? "1" : "0")
            x.open("Attributes")
            x.open("Attribute")
            x.leaf("AttributeID", 2)
            x.leaf("AttributeName", "Size")
            x.leaf("AttributeValue", sizes[v % sizes.count], [("language", "en-gb")])
            x.close("Attribute")
            let colour = r.int(0...TextPools.colours.count - 1)
            x.open("Attribute")
            x.leaf("AttributeID", 1)
            x.leaf("AttributeName", "Colour")
            x.leaf("AttributeValue", TextPools.colours[colour], [("language", "en-gb")])
            if langs.contains("fr-fr") { x.leaf("AttributeValue", TextPools.frenchColours[colour], [("language", "fr-fr")]) }
            x.close("Attribute")
            x.close("Attributes")
            x.close("Variation")
        }
        x.close("Variations")
        x.open("Images")
        for i in 0..<r.int(0...3) {
            x.open("Image")
            x.leaf("Name", "\(h.reference.lowercased())-\(i).jpg")
            x.leaf("AltText", i == 0 ? names[0] : nil)
            x.leaf("URL", "/images/products/\(h.id)/\(i)")
            x.leaf("Order", i + 1)
            x.close("Image")
        }
        x.close("Images")
        x.leaf("DateCreated", DemoDates.iso(h.created))
        x.leaf("DateModified", DemoDates.iso(h.modified))
        x.close("Product")
    }

    private static func renderPrice(_ x: inout XMLBuilder, _ iso: String, _ price: Int, rrp: Bool) {
        x.open("Currency")
        x.leaf("ISO", iso)
        x.leaf("Price", Money.text(price))
        if rrp { x.leaf("PriceRRP", Money.text(price + price / 5)) }
        x.close("Currency")
    }
}
