// Field types of Aurora XML API records, taken from the field tables of
// `aurora-xml-api-order.txt` ("Order Fields") and `aurora-xml-api-product.txt` ("Response
// fields"). Paths are element names from the record element down, joined with dots, exactly as
// the tables write them. `.list` marks a container whose children are repeated entries.
// Fields the tables leave untyped but the example responses show are typed by analogy and
// listed in the README. Anything not here is kept as a string (or an object, if it has children).

import Foundation

public enum AuroraFieldType: Sendable {
    case integer, decimal, string, bool, dateTime, date, list
}

/// The schema as a table of element nodes numbered from 0 (the record element), so the reader
/// finds a field's type from its parent's number without building the dotted path of every
/// element, and holds plain integers, not references, for the elements it has open. Children
/// are found by the bytes of their element name: one open-addressing table of FNV-1a hashes
/// over (parent, name bytes), all in flat arrays (nothing made or retained per lookup).
struct SchemaTable: Sendable {
    struct Node: Sendable {
        var type: AuroraFieldType?
        /// The element name (the `String` the records' keys share).
        var name: String
        /// Its place among its parent's children (sorted by name), and how many it has.
        var place: Int
        var childCount: Int
    }

    private(set) var nodes: [Node] = []
    private var nameBytes: [UInt8] = []
    private var nameRanges: [Range<Int>] = []
    private var parents: [Int32] = []
    private var slots: [Int32] = []

    init(_ flat: [String: AuroraFieldType]) {
        let paths = flat.keys.map { $0.split(separator: ".").map(String.init) }
        func build(_ prefix: [String], name: String, place: Int, parent: Int) {
            var names: Set<String> = []
            for parts in paths where parts.count > prefix.count && Array(parts.prefix(prefix.count)) == prefix {
                names.insert(parts[prefix.count])
            }
            let id = nodes.count
            nodes.append(Node(type: prefix.isEmpty ? nil : flat[prefix.joined(separator: ".")], name: name, place: place,
                              childCount: names.count))
            nameRanges.append(nameBytes.count..<(nameBytes.count + name.utf8.count))
            nameBytes.append(contentsOf: name.utf8)
            parents.append(Int32(parent))
            for (i, child) in names.sorted().enumerated() { build(prefix + [child], name: child, place: i, parent: id) }
        }
        build([], name: "", place: 0, parent: -1)
        var size = 4
        while size < nodes.count * 2 { size *= 2 }
        slots = [Int32](repeating: 0, count: size)
        for id in 1..<nodes.count {
            var slot = nameBytes.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[nameRanges[id]]), parent: Int(parents[id])) } & (size - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(id + 1)
        }
    }

    /// The number of the child of `parent` with this element name, if the documents describe it.
    func child(of parent: Int, named bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(bytes, parent: parent) & mask
        return nameBytes.withUnsafeBufferPointer { all in
            slots.withUnsafeBufferPointer { slots in
                while true {
                    let id = Int(slots[slot]) - 1
                    if id < 0 { return nil }
                    let range = nameRanges[id]
                    if Int(parents[id]) == parent, range.count == bytes.count,
                       Self.equal(all.baseAddress! + range.lowerBound, bytes.baseAddress!, count: bytes.count) {
                        return id
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// Whether this element name is node `id`'s.
    func name(of id: Int, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = nameRanges[id]
        return range.count == bytes.count
            && nameBytes.withUnsafeBufferPointer { Self.equal($0.baseAddress! + range.lowerBound, bytes.baseAddress!, count: bytes.count) }
    }

    /// Names are short (most under 16 bytes): compared a word at a time, without a call to memcmp.
    @inline(__always)
    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, count: Int) -> Bool {
        let a = UnsafeRawPointer(a), b = UnsafeRawPointer(b)
        guard count >= 8 else {
            for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            return true
        }
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }

    /// The length, the parent and the first and last eight bytes of the name (all of it when
    /// shorter than 17 bytes, which most are), mixed by multiplication.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, parent: Int) -> Int {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        let n = bytes.count
        var h = (UInt64(truncatingIfNeeded: n) &+ UInt64(truncatingIfNeeded: parent) << 8) &* k
        if n >= 8 {
            let raw = UnsafeRawPointer(bytes.baseAddress!)
            h = (h ^ raw.loadUnaligned(as: UInt64.self)) &* k
            h = (h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* k
        } else {
            var word: UInt64 = 0
            for i in 0..<n { word |= UInt64(bytes[i]) << (8 * UInt64(i)) }
            h = (h ^ word) &* k
        }
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }
}

public enum AuroraXMLSchema {
    static let orderTable = SchemaTable(order)
    static let productTable = SchemaTable(product)

    public static let order: [String: AuroraFieldType] = [
        "OrderID": .integer,
        "CustomerID": .integer,
        "OrderStatus": .string,
        "OrderLive": .bool,
        "PaymentType": .string,
        "Addresses": .list,
        "Addresses.Address.AddressID": .integer,
        "Addresses.Address.CustomerID": .integer,
        "Addresses.Address.StorageType": .string,
        "Addresses.Address.AddressType": .string,
        "Addresses.Address.EmailAddress": .string,
        "Addresses.Address.OptOut": .bool,
        "Addresses.Address.Gender": .string,
        "Addresses.Address.CompanyName": .string,
        "Addresses.Address.Title": .string,
        "Addresses.Address.FirstName": .string,
        "Addresses.Address.LastName": .string,
        "Addresses.Address.AddressLine1": .string,
        "Addresses.Address.AddressLine2": .string,
        "Addresses.Address.Town": .string,
        "Addresses.Address.County": .string,
        "Addresses.Address.PostCode": .string,
        "Addresses.Address.Country": .string,
        "Addresses.Address.PhoneNumber": .string,
        "Addresses.Address.MobileNumber": .string,
        "CourierName": .string,
        "CourierCode": .string,
        "TrackingNumber": .string,
        "ChargedCurrency": .string,
        "Currency": .string,
        "ExchangeRate": .decimal,
        "TaxRate": .decimal,
        "ShippingSku": .string,
        "ShippingCost": .decimal,
        "ShippingTax": .decimal,
        "CustomShippingCost": .decimal,
        "CustomShippingLabel": .string,
        "OrderTotal": .decimal,
        "OrderSubtotal": .decimal,
        "OrderTax": .decimal,
        "CouponCode": .string,
        "CouponDiscount": .decimal,
        "OrderDiscount": .decimal,
        "PriceBreakDiscount": .decimal,
        "LoyaltyDiscount": .decimal,
        "TotalDiscount": .decimal,
        "InvoiceNotes": .string,
        "CustomerNotes": .string,
        "CustomerSelectedDeliveryDate": .date,
        "DateDeliveryEstimate": .dateTime,
        "DateShipped": .dateTime,
        "DateCreated": .dateTime,
        "ClickAndCollect.ID": .integer,
        "ClickAndCollect.InternalID": .integer,
        "ClickAndCollect.Name": .string,
        "ClickAndCollect.Address": .string,
        "ClickAndCollect.Telephone": .string,
        "ClickAndCollect.EmailAddress": .string,
        "CollectPlus.ID": .integer,
        "CollectPlus.InternalID": .integer,
        "CollectPlus.Name": .string,
        "CollectPlus.Address": .string,
        "CollectPlus.Telephone": .string,
        "Items": .list,
        "Items.Item.OrderItemID": .integer,
        "Items.Item.ProductID": .integer,
        "Items.Item.ProductReference": .string,
        "Items.Item.ProductEAN": .string,
        "Items.Item.VariationID": .integer,
        "Items.Item.VariationReference": .string,
        "Items.Item.VariationEAN": .string,
        "Items.Item.BundeID": .integer,
        "Items.Item.Price": .decimal,
        "Items.Item.Tax": .decimal,
        "Items.Item.TaxBand": .string,
        "Items.Item.Discount": .decimal,
        "Items.Item.TaxRate": .decimal,
        "Items.Item.Quantity": .integer,
        "Items.Item.QuantityReturned": .integer,
        "Items.Item.LineOrder": .integer,
        "Items.Item.LineStatus": .string,
        "Items.Item.LineStatus.Quantity": .string,
        "Items.Item.LineStatus.StatusCode": .string,
        "Items.Item.LineStatus.ReasonCode": .string,
        "Items.Item.AdditionalFields": .list,
        "Items.Item.AdditionalFields.AdditionalField.FieldName": .string,
        "Items.Item.AdditionalFields.AdditionalField.FieldValue": .string,
        "Items.Item.DiscountList": .list,
        "Items.Item.DiscountList.DiscountItem.Type.BasketPromotion.Id": .integer,
        "Items.Item.DiscountList.DiscountItem.Type.BasketPromotion.PromotionName": .string,
        "Items.Item.DiscountList.DiscountItem.DiscountAmount": .decimal,
        "Items.Item.DiscountList.DiscountItem.DiscountNumber": .integer,
        "Items.Item.DiscountList.DiscountItem.PromotionAmount": .decimal,
        "Items.Item.DiscountList.DiscountItem.PromotionAmountType": .string,
        "Transactions": .list,
        "Transactions.Transaction.TransactionID": .integer,
        "Transactions.Transaction.Amount": .decimal,
        "Transactions.Transaction.Display": .bool,
        "Transactions.Transaction.NameOnCard": .string,
        "Transactions.Transaction.CardNumber": .string,
        "Transactions.Transaction.CardExpiry": .string,
        "Transactions.Transaction.CardType": .string,
        "Transactions.Transaction.Type": .string,
        "Transactions.Transaction.Status": .string,
        "Transactions.Transaction.StatusDetails": .string,
        "Transactions.Transaction.Provider": .string,
        "Transactions.Transaction.ProviderVendorName": .string,
        "Transactions.Transaction.ProviderVendorTxCode": .string,
        "Transactions.Transaction.ProviderTxID": .string,
        "Transactions.Transaction.ProviderSecurityKey": .string,
        "Transactions.Transaction.ProviderAuthNumber": .string,
        "Transactions.Transaction.ProviderRelatedVendorTxCode": .string,
        "Transactions.Transaction.ProviderAVSCV2": .string,
        "Transactions.Transaction.ProviderAddressResult": .string,
        "Transactions.Transaction.ProviderPostCodeResult": .string,
        "Transactions.Transaction.ProviderCV2Result": .string,
        "Transactions.Transaction.Provider3DSecureStatus": .string,
        "Transactions.Transaction.DateCreated": .dateTime,
        "Transactions.Transaction.TransactionAdditionalFields": .list,
        "Transactions.Transaction.TransactionAdditionalFields.TransactionAdditionalField.FieldID": .integer,
        "Transactions.Transaction.TransactionAdditionalFields.TransactionAdditionalField.FieldName": .string,
        "Transactions.Transaction.TransactionAdditionalFields.TransactionAdditionalField.FieldValue": .string,
        "AdditionalFields": .list,
        "AdditionalFields.AdditionalField.FieldID": .integer,
        "AdditionalFields.AdditionalField.FieldName": .string,
        "AdditionalFields.AdditionalField.FieldValue": .string,
        "FraudResults": .list,
        "FraudResults.Result.Action": .string,
        "FraudResults.Result.Score": .integer,
        "FraudResults.Result.MID": .integer,
        "FraudResults.Result.DateCreated": .dateTime,
        // Not in the field tables but in the documents' example responses; typed by analogy.
        "Items.Item.RelatedItems": .list,
        "ShippingType": .string,
        "Items.Item.BundleID": .integer,
        "Addresses.Address.Country.ID": .integer,
        "Addresses.Address.Country.ISO": .string,
        "Addresses.Address.Country.Name": .string,
        "Items.Item.AdditionalFields.AdditionalField.FieldID": .integer,
        "Items.Item.RelatedItems.Item.ItemID": .integer,
        "Items.Item.RelatedItems.Item.LineOrder": .integer,
        "Items.Item.ItemID": .integer,
        "DateModified": .dateTime,
    ]

    public static let product: [String: AuroraFieldType] = [
        "ProductID": .integer,
        "ProductReference": .string,
        "ProductRetailerCode": .string,
        "ProductStyleCode": .string,
        "ProductName": .string,
        "DisplayProduct": .bool,
        "Searchable": .bool,
        "ProductStock": .integer,
        "BinNumber": .string,
        "Categories": .list,
        "Categories.Category": .string,
        "Categories.Category.ID": .integer,
        "Categories.Category.Name": .string,
        "Categories.Category.NamePath": .string,
        "Categories.Category.URL": .string,
        "MainCategory": .string,
        "MainSubcategory": .string,
        "ProductCopy": .string,
        "ProductDescription": .string,
        "MetaTitle": .string,
        "MetaDescription": .string,
        "MetaKeywords": .string,
        "ProductEAN": .string,
        "ProductUPC": .string,
        "ProductFilename": .string,
        "ProductPrices": .list,
        "ProductPrices.Currency.ISO": .string,
        "ProductPrices.Currency.Price": .decimal,
        "ProductPrices.Currency.PriceRRP": .decimal,
        "ProductPrices.Currency.PriceWas": .decimal,
        "ProductPrices.Currency.PriceBundle": .decimal,
        "ProductPriceBuyin": .decimal,
        "StockControlEnabled": .bool,
        "StockActionOnZero": .integer,
        "NormalRestockDays": .integer,
        "ShippingMessage": .string,
        "ProductDimensionsWidth": .decimal,
        "ProductDimensionsLength": .decimal,
        "ProductDimensionsHeight": .decimal,
        "ProductDimensionsMeasurement": .string,
        "ProductWeight": .decimal,
        "ProductWeightMeasurement": .string,
        "MinShippingDay": .integer,
        "MaxShippingDay": .integer,
        "NoStockMinShippingDay": .integer,
        "NoStockMaxShippingDay": .integer,
        "ShippingGroups": .list,
        "ShippingGroups.ShippingGroup.Name": .string,
        "ShippingRestrictions.CountriesExcluded": .list,
        "ShippingRestrictions.CountriesExcluded.Country.ID": .integer,
        "ShippingRestrictions.CountriesExcluded.Country.ISO": .string,
        "ShippingRestrictions.CountriesExcluded.Country.Name": .string,
        "ShippingRestrictions.CountriesIncluded": .list,
        "ShippingRestrictions.CountriesIncluded.Country.ID": .integer,
        "ShippingRestrictions.CountriesIncluded.Country.ISO": .string,
        "ShippingRestrictions.CountriesIncluded.Country.Name": .string,
        "ShippingSKUsExcluded": .list,
        "ShippingSKUsExcluded.SKU": .string,
        "TaxBand": .string,
        "AbsoluteRating": .decimal,
        "Rating": .string,
        "ReviewCount": .integer,
        "ProductTemplate": .integer,
        "SendToEbay": .bool,
        "EbayItemID": .integer,
        "SendToAmazon": .bool,
        "AdditionalFields": .list,
        "AdditionalFields.AdditionalField.FieldID": .integer,
        "AdditionalFields.AdditionalField.FieldName": .string,
        "AdditionalFields.AdditionalField.FieldValues": .list,
        "AdditionalFields.AdditionalField.FieldValues.FieldValue": .string,
        "AdditionalFields.AdditionalField.UseAsFilter": .bool,
        "AdditionalFields.AdditionalField.DisplayField": .bool,
        "Variations": .list,
        "Variations.Variation.VariationReference": .string,
        "Variations.Variation.VariationRetailerCode": .string,
        "Variations.Variation.VariationStyleCode": .string,
        "Variations.Variation.VariationEAN": .string,
        "Variations.Variation.VariationUPC": .string,
        "Variations.Variation.VariationStock": .integer,
        "Variations.Variation.VariationBinNumber": .string,
        "Variations.Variation.VariationPrice": .decimal,
        "Variations.Variation.VariationPriceRRP": .decimal,
        "Variations.Variation.VariationPreOrderStock": .integer,
        "Variations.Variation.VariationStockWarningLevel": .integer,
        "Variations.Variation.VariationIsLive": .bool,
        "Variations.Variation.VariationDimensionsWidth": .decimal,
        "Variations.Variation.VariationDimensionsLength": .decimal,
        "Variations.Variation.VariationDimensionsHeight": .decimal,
        "Variations.Variation.VariationDimensionsMeasurement": .string,
        "Variations.Variation.VariationWeight": .decimal,
        "Variations.Variation.VariationWeightMeasurement": .string,
        "Variations.Variation.Attributes": .list,
        "Variations.Variation.Attributes.Attribute.AttributeID": .integer,
        "Variations.Variation.Attributes.Attribute.AttributeName": .string,
        "Variations.Variation.Attributes.Attribute.AttributeValue": .string,
        "Variations.Variation.Attributes.Attribute.AttributeValueID": .integer,
        "Variations.Variation.Attributes.Attribute.UseAsFilter": .bool,
        "Variations.Variation.Attributes.Attribute.DisplayAttribute": .bool,
        "Variations.Variation.Attributes.Attribute.AttributeAbbreviation": .string,
        "Variations.Variation.Attributes.Attribute.AttributeOrder": .integer,
        // Not in the field tables but in the documents' example responses; typed by analogy.
        "Variations.Variation.VariationPrices": .list,
        "ShippingRestrictions.ShippingSKUsExcluded": .list,
        "Images": .list,
        "CrossSells": .list,
        "UpSells": .list,
        "RelatedProducts": .list,
        "Bundles": .list,
        "Bundles.Bundle.Products": .list,
        "ProductSales": .integer,
        "StockWarningLevel": .integer,
        "RestockDate": .date,
        "TaxRate": .decimal,
        "Variations.Variation.VariationTaxRate": .decimal,
        "Variations.Variation.VariationID": .integer,
        "Variations.Variation.BinNumber": .string,
        "PriceBuyin": .decimal,
        "IsSearchable": .bool,
        "GoogleBaseCategory": .string,
        "AdditionalFields.AdditionalField.FilterAbbreviation": .string,
        "AdditionalFields.AdditionalField.FieldValues.FieldValue.ValueID": .integer,
        "AdditionalFields.AdditionalField.FieldValues.FieldValue.Value": .string,
        "Variations.Variation.VariationPrices.Currency.ISO": .string,
        "Variations.Variation.VariationPrices.Currency.Price": .decimal,
        "Variations.Variation.VariationPrices.Currency.PriceRRP": .decimal,
        "Variations.Variation.VariationPrices.Currency.PriceWas": .decimal,
        "Variations.Variation.Attributes.Attribute.AttributeValueAbbreviation": .string,
        "ShippingRestrictions.ShippingSKUsExcluded.SKU": .string,
        "Images.Image.Name": .string,
        "Images.Image.AltText": .string,
        "Images.Image.URL": .string,
        "Images.Image.Order": .integer,
        "CrossSells.Product.ProductID": .integer,
        "CrossSells.Product.Order": .integer,
        "UpSells.Product.ProductID": .integer,
        "UpSells.Product.Order": .integer,
        "RelatedProducts.Product.ProductID": .integer,
        "RelatedProducts.Product.Order": .integer,
        "Bundles.Bundle.BundleName": .string,
        "Bundles.Bundle.BundlePrice": .decimal,
        "Bundles.Bundle.BundleAccumulatedPrice": .decimal,
        "Bundles.Bundle.Order": .integer,
        "Bundles.Bundle.Products.Product.ProductID": .integer,
        "DateCreated": .dateTime,
        "DateModified": .dateTime,
    ]
}
