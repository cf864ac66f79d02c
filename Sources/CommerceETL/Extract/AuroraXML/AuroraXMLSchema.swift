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

/// The schema as a tree keyed by element name, so the reader finds a field's type from its
/// parent's node without building the dotted path of every element.
final class SchemaNode: Sendable {
    let type: AuroraFieldType?
    /// The children, found by the bytes of their element name (`child(named:)`), so the
    /// reader neither makes a `String` of each tag name nor hashes one: an open-addressing table
    /// of FNV-1a hashes over the names' bytes, all in one array (nothing retained per lookup).
    private let names: [String]
    private let nodes: [SchemaNode]
    private let nameBytes: [UInt8]
    private let nameRanges: [Range<Int>]
    private let slots: [Int32]

    init(type: AuroraFieldType?, children: [String: SchemaNode]) {
        self.type = type
        let sorted = children.sorted { $0.key < $1.key }
        names = sorted.map(\.key)
        nodes = sorted.map(\.value)
        var bytes: [UInt8] = [], ranges: [Range<Int>] = []
        for name in names {
            ranges.append(bytes.count..<(bytes.count + name.utf8.count))
            bytes.append(contentsOf: name.utf8)
        }
        nameBytes = bytes
        nameRanges = ranges
        var size = 4
        while size < names.count * 2 { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (index, range) in ranges.enumerated() {
            var slot = bytes.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[range])) } & (size - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(index + 1)
        }
        self.slots = slots
    }

    /// The child element with this name: its name as a `String` (shared, not made again), its
    /// node, and its place among this node's children (`childCount` in all).
    func child(named bytes: UnsafeBufferPointer<UInt8>) -> (name: String, node: SchemaNode, index: Int)? {
        guard let index = childIndex(named: bytes) else { return nil }
        return (names[index], nodes[index], index)
    }

    private func childIndex(named bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !names.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Self.hash(bytes) & mask
        return nameBytes.withUnsafeBufferPointer { all in
            while true {
                let index = Int(slots[slot])
                if index == 0 { return nil }
                let range = nameRanges[index - 1]
                if range.count == bytes.count, memcmp(all.baseAddress! + range.lowerBound, bytes.baseAddress!, bytes.count) == 0 {
                    return index - 1
                }
                slot = (slot + 1) & mask
            }
        }
    }

    var childCount: Int { names.count }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int(h)
    }

    static func tree(_ flat: [String: AuroraFieldType]) -> SchemaNode {
        func build(_ prefix: [Substring], type: AuroraFieldType?) -> SchemaNode {
            var names: Set<Substring> = []
            for key in flat.keys {
                let parts = key.split(separator: ".")
                if parts.count == prefix.count + 1, Array(parts.prefix(prefix.count)) == prefix { names.insert(parts[prefix.count]) }
                if parts.count > prefix.count + 1, Array(parts.prefix(prefix.count)) == prefix { names.insert(parts[prefix.count]) }
            }
            var children: [String: SchemaNode] = [:]
            for name in names {
                let path = prefix + [name]
                children[String(name)] = build(path, type: flat[path.joined(separator: ".")])
            }
            return SchemaNode(type: type, children: children)
        }
        return build([], type: nil)
    }
}

public enum AuroraXMLSchema {
    static let orderTree = SchemaNode.tree(order)
    static let productTree = SchemaNode.tree(product)

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
