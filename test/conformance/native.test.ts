import { describeConformance } from './suite';

describeConformance('native');
