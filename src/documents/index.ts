/**
 * Body codecs with no SIP in them (ARCHITECTURE.md §1, L0): XML, PIDF (RFC 3863) with the
 * RFC 4479 data model and RPID (RFC 4480), watcher information (RFC 3858), message/cpim
 * (RFC 3862) and IMDN (RFC 5438).
 */
export { DocumentError, isDocumentError, type DocumentErrorCode } from './document-error.js';
export {
  DEFAULT_XML_LIMITS, XML_NAMESPACE, XMLNS_NAMESPACE, childElements, createAttribute, createElement, expandedName,
  firstChild, getAttribute, parseXml, serializeXml, textOf,
  type XmlAttribute, type XmlElement, type XmlLimits, type XmlNode, type XmlParseOptions, type XmlSerializeOptions,
} from './xml.js';
export {
  DATA_MODEL_NAMESPACE, deviceElement, isDataModelElement, parseDevice, parsePerson, personElement,
  type Device, type Person,
} from './data-model.js';
export {
  PIDF_CONTENT_TYPE, PIDF_NAMESPACE, parsePidf, presenceElement, serializePidf, tupleElement,
  type BasicStatus, type Contact, type Note, type PidfSerializeOptions, type PresenceDocument, type Tuple,
} from './pidf.js';
export {
  RPID_ACTIVITIES, RPID_NAMESPACE, activitiesElement, activitiesOf, moodElement, moodsOf, otherActivityOf,
  rpidElement, userInputElement,
} from './rpid.js';
export {
  WATCHERINFO_CONTENT_TYPE, WATCHERINFO_NAMESPACE, WATCHER_EVENTS, WATCHER_STATUSES, parseWatcherInfo,
  serializeWatcherInfo, watcherInfoElement,
  type Watcher, type WatcherEvent, type WatcherInfo, type WatcherList, type WatcherStatus,
} from './watcherinfo.js';
export {
  CPIM_CONTENT_TYPE, CPIM_HEADERS_NAMESPACE, DEFAULT_CPIM_LIMITS, cpimHeader, cpimHeaderValues, formatCpim, parseCpim,
  type CpimDocument, type CpimFormatInput, type CpimHeader, type CpimLimits, type CpimParseOptions, type CpimRequiredHeader,
} from './cpim.js';
export {
  IMDN_CONTENT_TYPE, IMDN_CPIM_NAMESPACE, IMDN_NAMESPACE, formatImdn, formatImdnCpim, parseDispositionNotification, parseImdn,
  type DeliveryStatus, type DispositionRequest, type DisplayStatus, type ImdnCpimInput, type ImdnDisposition,
  type ImdnNotification, type ProcessingStatus,
} from './imdn.js';
